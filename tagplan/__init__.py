"""The tagging plan: the declarative contract between marketers, web developers and analysts."""

from tagplan.compile import CompiledPlan, compile_plan
from tagplan.errors import PlanError, PlanErrors
from tagplan.load import load_plan

__all__ = ["CompiledPlan", "PlanError", "PlanErrors", "compile_plan", "load_plan"]
