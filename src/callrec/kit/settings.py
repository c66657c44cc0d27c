"""Configuration from the environment (``CALLREC_*``), one object for the whole process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Recording pipeline
    upload_max_bytes: int = Field(default=1024**3, ge=1)
    sla_talk_ratio: float = Field(default=100.0, gt=0)  # deadline = talk / ratio + overhead
    sla_overhead_s: float = Field(default=60.0, ge=0)
    # The delivery file: mp3 (default) or opus (Ogg/Opus at half the bitrate).
    delivery_format: Literal["mp3", "opus"] = "mp3"
    mp3_bitrate_kbps: int = Field(default=32, ge=8, le=320)
    # LAME's speed/quality trade-off (0 best, 9 fastest); 7 is transparent for 8 kHz speech at
    # 32 kbit/s and ~35 % faster than the default 5 (notes/audio.md).
    mp3_quality: int = Field(default=7, ge=0, le=9)
    embedded_workers: int = Field(default=2, ge=1, le=32)
    # A worker renews its lease on a recording while it processes it; a lease that runs out
    # means the worker died (kill -9, power loss) and the recording is sent again.
    processing_lease_s: float = Field(default=30.0, gt=0)
    # The SIPREC recording server inside `callrec run` (`callrec media` takes options instead).
    sip_port: int = Field(default=5060, ge=0, le=65535)  # 0: no media server in `run`
    rtp_ports: str = Field(default="20000-29999", pattern=r"^\d+-\d+$")
    # The recording proxy (B2BUA) inside `callrec run`: docs/proxy.md.
    proxy_port: int = Field(default=5070, ge=0, le=65535)  # 0: no proxy in `run`
    proxy_rtp_ports: str = Field(default="30000-39999", pattern=r"^\d+-\d+$")
    proxy_upstream: str = ""  # host:port where calls to numbers not in the routes go
    proxy_routes: str = ""  # "201=127.0.0.1:5080,202=10.0.0.7:5060"
    # Text-to-speech announcements and prompts: the longest message accepted (the brief gives 450
    # and 2,000; issue 5 takes 2,000).
    tts_max_chars: int = Field(default=2000, ge=1, le=100_000)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def storage_url_resolved(self) -> str:
        return self.storage_url or f"file://{self.data_dir / 'blobs'}"

    @property
    def database_url_resolved(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'callrec.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
