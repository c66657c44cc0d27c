"""Configuration from the environment (``CALLREC_*``), one object for the whole process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLREC_", extra="ignore")

    data_dir: Path = Field(default=Path("./var"))
    # Empty means "SQLite in data_dir": resolved by ``database_url_resolved``.
    database_url: str = ""
    storage_url: str = ""
    queue_url: str = ""
    secret_key: str = "dev-insecure-change-me"
    # Cookies are marked Secure when the UI is served over HTTPS.
    cookie_secure: bool = False
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    log_json: bool = True

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def database_url_resolved(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'callrec.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
