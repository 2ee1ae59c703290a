"""Settings, from the environment or a `.env` file (see `.env.example` for each one).

A missing or invalid setting stops start-up with one line naming it. Secrets are ``SecretStr``
so they never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from zxcvbn import zxcvbn

from flows.schema import DEFAULT_CONTENT

# A placeholder is a word standing on its own ("replace-with-…", "change_me", "my secret"), or one
# character repeated; the same letters inside a random value ("…Q7xxxK…", "…dtodoZ…") are not one.
PLACEHOLDER = re.compile(
    r"(?<![A-Za-z0-9])(change|changeme|example|placeholder|replace|secret|todo|xxx+|your)(?![A-Za-z0-9])"
    r"|^(.)\2*$",
    re.IGNORECASE,
)
# zxcvbn's estimate (log10 of guesses) below which a 32+ character value is not random: repeats
# ("abab…"), sequences ("1234…", "abcd…"), keyboard runs ("qwerty…") and words all score under
# 13; 32 random hex characters score 28 or more, 32 random URL-safe bytes 40 or more.
MIN_KEY_GUESSES_LOG10 = 20.0
MAKE_ONE = 'e.g. python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and never shows a secret value."""


class Settings(BaseSettings):
    # env_ignore_empty: an empty setting (`CONTACTS_FILE=` as in .env.example) means unset, so the
    # default applies instead of an empty path or number.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    bot_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Seconds a webhook connection may wait for a request's headers (and idle between requests),
    # and for its body, before it is closed: slow clients cannot hold the server's connections.
    webhook_idle_timeout: float = Field(default=10.0, gt=0, le=300)
    webhook_body_timeout: float = Field(default=10.0, gt=0, le=300)
    webhook_secret: SecretStr | None = None
    # The web page (`cse-triage web`): where it listens; put a TLS proxy in front for real use.
    web_listen: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # Webhook mode also serves the web page, from the same process, on WEB_LISTEN:WEB_PORT.
    web_enabled: bool = False
    # As the webhook's: seconds a web connection may wait for a request's headers (or idle between
    # requests), and for its body (2 KB at most), before it is refused and closed.
    web_idle_timeout: float = Field(default=10.0, gt=0, le=300)
    web_body_timeout: float = Field(default=10.0, gt=0, le=300)
    # New web checks (a first answer stored) each process accepts in any minute; past it the page
    # shows 999 and the designated contact, and one log line a minute says so. A public page's
    # figures can be inflated by anyone: this bounds how fast (issue 21 §3).
    web_new_checks_per_minute: int = Field(default=60, ge=1, le=100_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Polling mode and `cse-triage web`: serve Prometheus /metrics on this port (webhook mode
    # serves it beside /hook).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_listen: str = "127.0.0.1"
    # text (one line per record) or json (one JSON object per line, for a log collector).
    log_format: Literal["text", "json"] = "text"
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    database_url: str | None = None
    chat_key_secret: SecretStr | None = None
    session_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Where each Telegram process records its pid, so `cse-triage reload` can signal it.
    run_dir: Path = Path("data") / "run"
    contacts_file: Path | None = None
    content_file: Path = DEFAULT_CONTENT

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(v) for v in value.replace(" ", "").split(",") if v]
        return value

    @field_validator("telegram_bot_token", "webhook_secret", "chat_key_secret", "metrics_port", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    def chat_key_bytes(self) -> bytes:
        """CHAT_KEY_SECRET as the key of every Telegram chat key and web session: the one place
        it is turned into bytes. Each channel refuses to start first unless it is fit
        (``secret_problems``)."""
        if self.chat_key_secret is None:
            raise SettingsError("CHAT_KEY_SECRET: not set")
        return self.chat_key_secret.get_secret_value().encode()

    def secret_problems(self) -> list[str]:
        """CHAT_KEY_SECRET's problem, if any (it keys both Telegram chats and web sessions)."""
        secret = self.chat_key_secret.get_secret_value() if self.chat_key_secret else ""
        if len(secret) < 32:
            return [f"CHAT_KEY_SECRET: set a random value of at least 32 characters ({MAKE_ONE})"]
        if PLACEHOLDER.search(secret):
            return [f"CHAT_KEY_SECRET: still a placeholder; set a random value ({MAKE_ONE})"]
        if zxcvbn(secret[:100])["guesses_log10"] < MIN_KEY_GUESSES_LOG10:
            return [
                "CHAT_KEY_SECRET: too predictable (repeated or sequential characters, keyboard runs or "
                f"words), so chat keys could be guessed; set a random value ({MAKE_ONE})"
            ]
        return []

    def telegram_problems(self) -> list[str]:
        """What stops Telegram mode from starting, one line each (never the secret itself)."""
        problems: list[str] = []
        token = self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else ""
        if not TOKEN.match(token):
            problems.append(
                "TELEGRAM_BOT_TOKEN: missing or not of the form <digits>:<letters> from BotFather"
            )
        problems += self.secret_problems()
        if self.web_enabled and self.bot_mode != "webhook":
            problems.append(
                "WEB_ENABLED: the web page runs beside the webhook (BOT_MODE=webhook); with polling, "
                "run `cse-triage web` as its own process"
            )
        if self.bot_mode == "webhook":
            if not self.webhook_url or not self.webhook_url.startswith("https://"):
                problems.append("WEBHOOK_URL: webhook mode needs the public https:// URL Telegram will call")
            wsecret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if not WEBHOOK_SECRET.match(wsecret) or len(wsecret) < 16 or PLACEHOLDER.search(wsecret):
                problems.append(
                    "WEBHOOK_SECRET: 16 to 256 characters from A-Z a-z 0-9 _ - (not a placeholder)"
                )
        if self.contacts_file is None:
            problems.append("CONTACTS_FILE: Telegram mode needs your organisation's contacts file")
        return problems


# For `cse-triage --help`: each setting a deployment sets, in the order a deployer needs them
# (.env.example explains every one at length). tests/ops/test_deploy.py holds it to ``Settings``.
SETTINGS_HELP: tuple[tuple[str, str], ...] = (
    (
        "CONTACTS_FILE",
        "your organisation's contacts file (copy flows/content/contacts.example.yaml); needed by"
        " Telegram mode, and by the web page for real numbers",
    ),
    ("CHAT_KEY_SECRET", "at least 32 random characters; keys Telegram chats and web sessions"),
    ("TELEGRAM_BOT_TOKEN", "from @BotFather; without it `run` starts the check in the terminal"),
    ("BOT_MODE", "polling (default) or webhook"),
    ("WEBHOOK_URL, WEBHOOK_SECRET", "webhook mode: the public https URL, and the header secret"),
    ("WEBHOOK_LISTEN, WEBHOOK_PORT", "where the webhook listens (127.0.0.1:8443), behind the TLS proxy"),
    ("WEBHOOK_IDLE_TIMEOUT, WEBHOOK_BODY_TIMEOUT", "seconds before a slow webhook client is closed (10)"),
    ("WEB_LISTEN, WEB_PORT", "where `web` listens (127.0.0.1:8080), behind the TLS proxy"),
    ("WEB_ENABLED", "true: webhook mode also serves the web page"),
    ("WEB_IDLE_TIMEOUT, WEB_BODY_TIMEOUT", "seconds before a slow browser connection is closed (10)"),
    ("WEB_NEW_CHECKS_PER_MINUTE", "new web checks each process accepts in a minute (60)"),
    ("DATABASE_URL", "empty: SQLite in ./data/; postgresql+psycopg://… for several processes"),
    ("SESSION_TTL_HOURS", "hours an unfinished check is kept (24)"),
    ("RUN_DIR", "where each process writes its pid for `reload` (data/run)"),
    ("LOG_LEVEL, LOG_FORMAT", "INFO by default; text or json"),
    ("METRICS_PORT, METRICS_LISTEN", "polling mode and web: serve /metrics here (empty: off)"),
    ("ADMIN_USER_IDS", "Telegram user ids allowed to use /stats, comma-separated"),
    ("CONTENT_FILE", "the content file (default: the shipped flows/content/cse.yaml)"),
    ("TELEGRAM_API_BASE_URL", "only for a self-hosted Bot API server"),
)


def settings_help() -> str:
    """The settings part of `cse-triage --help`."""
    lines = [
        "settings (from the environment, or a .env file in the working folder; an empty value",
        "means unset; .env.example explains each one):",
    ]
    for names, what in SETTINGS_HELP:
        lines.append(f"  {names}")
        lines += textwrap.wrap(what, 86, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)


def load_settings() -> Settings:
    """Read settings, turning a validation error into one line per setting."""
    try:
        return Settings()
    except ValidationError as err:
        lines = []
        for e in err.errors(include_url=False, include_input=False):
            name = str(e["loc"][0]).upper() if e["loc"] else "SETTINGS"
            lines.append(f"{name}: {e['msg']}")
        raise SettingsError("; ".join(lines)) from None
