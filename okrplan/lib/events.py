"""Domain events: how a lower app sets off something in a higher one.

`hierarchy` ← `plans` ← `notifications`: a lower app's service publishes a
plain dataclass named after what happened (`KeyResultCreated`, `PlanModified`)
inside its transaction; a higher app subscribes in its `AppConfig.ready`, in one
explicit registry per app. Handlers run synchronously, in the publisher's
transaction, so the whole change commits or rolls back together.
"""

from collections import defaultdict
from collections.abc import Callable

_handlers: dict[type, list[Callable]] = defaultdict(list)


def subscribe(event_type: type, handler: Callable) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def publish(event) -> None:
    for handler in list(_handlers[type(event)]):
        handler(event)
