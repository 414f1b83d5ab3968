"""The analytical side of parcours: offline sales in, one person across visits, phones and quotes, reports
and attribution."""
