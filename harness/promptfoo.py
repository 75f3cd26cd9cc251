"""Kept for the promptfoo files that `harness export promptfoo` wrote: their stubs import
`provider_response` and `assertion_result` from here. The code is `harness.interop.promptfoo`."""

from harness.interop.promptfoo import assertion_result, provider_response

__all__ = ["assertion_result", "provider_response"]
