"""Live updates over WebSocket. Domain code calls ``realtime.publish(area, event)``.

(The function shadows its module as an attribute of the package; import helpers from the
module by name: ``from realtime.publish import publish_to_user``.)
"""

from .publish import publish

__all__ = ["publish"]
