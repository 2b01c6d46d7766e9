"""Error bodies shared by the routers, so every route documents its refusals the same way in OpenAPI."""

from typing import Any

from kizuna.service import models

# One body whether a product does not exist or is not releasable to the caller: the answer leaks neither
# ids nor counts.
NOT_VISIBLE = "no such product is releasable to you"

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "missing or invalid credentials"},
    403: {"model": models.Error, "description": "not permitted (reveals nothing about products)"},
}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {400: {"model": models.Error, "description": "invalid cursor"}}
INVALID: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "invalid marking, product or policy violation"}
}
