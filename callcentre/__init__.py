"""The call centre: call-back leads with provable consent ("e-rebond"), one tracking phone number per visitor
session ("cookie vocal"), and call logs joined to journeys. docs/call-centre.md is the manager's guide."""
