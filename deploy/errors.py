"""The base class of every error the deploy raises on purpose.

Each module keeps its own subclass next to the code that raises it; the command line catches
this one type, so a new kind of deploy error cannot slip past it as a traceback.
"""

from __future__ import annotations


class DeployError(Exception):
    """A deploy step cannot go on; the message says which and why."""
