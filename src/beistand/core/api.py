"""Building blocks of the JSON API that every app's router uses: strict request schemas and input
types. Authentication (tokens, session, role checks) needs the accounts app and lives there
(``beistand.accounts.api_auth``); the API itself (``/api/v1/``: error mapping, the apps' routers)
is ``beistand.api``. Keeping both out of here lets every app's router import these blocks."""

from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


class StrictSchema(Schema):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refuse it here instead of failing in the database.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Steuerzeichen (NUL) sind nicht erlaubt.")
    return value


# Text input of request bodies.
Str = Annotated[str, AfterValidator(_no_nul)]
# Database ids: beyond a 64-bit integer no row exists, and SQLite would overflow on a lookup.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
