"""Where collections live: the data dir (one machine) or object storage shared by hosts.

:class:`StorageLocation` is what :class:`~h2otui.store.collections.CollectionStore`
connects to: a LanceDB URI and its storage options. For object storage the options hold
credentials (from the environment or an AWS profile, never from a config file), so a
location never shows them: :meth:`StorageLocation.describe` names the URI without user
info, and :meth:`StorageLocation.scrub` removes every secret it holds from a message (an
error from the object store) before it reaches a user.

Safety on shared storage does not come from h2otui: Lance commits a new table version
with a conditional put (``If-None-Match``), so of two writers racing for the same
version one fails and retries on top of the other's; readers always read a committed
version. No DynamoDB or lock service is needed with current Lance.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from h2otui.config import Settings

#: option keys whose values are secrets (never shown, scrubbed from errors)
SECRET_KEYS = frozenset(
    {
        "aws_access_key_id",
        "access_key_id",
        "aws_secret_access_key",
        "secret_access_key",
        "aws_session_token",
        "session_token",
        "token",
        "google_service_account_key",
        "service_account_key",
        "azure_storage_account_key",
        "account_key",
        "azure_storage_sas_key",
        "sas_key",
        "api_key",
        "client_secret",
    }
)
#: how often a reader of shared storage looks for versions other hosts committed
READ_CONSISTENCY_S = 5.0
#: environment variables a Ray worker gets as storage options (see worker_options)
_ENV_CREDENTIALS = (
    ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
    ("AWS_SESSION_TOKEN", "aws_session_token"),
    ("AWS_REGION", "region"),
)
_REMOTE_SCHEMES = ("s3://", "s3+ddb://", "gs://", "az://", "abfs://", "db://")


class StorageConfigError(Exception):
    """A storage setting that cannot work (unknown scheme, missing profile)."""


@dataclass(frozen=True)
class StorageLocation:
    """A LanceDB URI with its storage options. ``local_path`` is set for the data dir."""

    uri: str
    options: dict[str, str] = field(default_factory=dict, repr=False)
    local_path: Path | None = None

    @property
    def remote(self) -> bool:
        return self.local_path is None

    @property
    def managed(self) -> bool:
        """LanceDB Cloud / Enterprise (``db://``)."""
        return self.uri.startswith("db://")

    def describe(self) -> str:
        """The URI as a user may see it (no ``user:password@``)."""
        from h2otui.servers import scrub_credentials

        return scrub_credentials(self.uri)

    def secrets(self) -> list[str]:
        return [v for k, v in self.worker_options().items() if k.lower() in SECRET_KEYS and v]

    def scrub(self, text: str) -> str:
        """``text`` without any secret of this location (nor anything credential-shaped)."""
        from h2otui.servers import scrub

        return scrub(text, self.secrets())

    def connect(self) -> Any:
        import lancedb

        if self.local_path is not None:
            self.local_path.mkdir(mode=0o700, parents=True, exist_ok=True)
            return lancedb.connect(str(self.local_path))
        if self.managed:
            opts = dict(self.options)
            api_key = opts.pop("api_key", None) or os.environ.get("LANCEDB_API_KEY")
            region = opts.pop("region", "us-east-1")
            host = opts.pop("host_override", None)
            return lancedb.connect(
                self.uri, api_key=api_key, region=region, host_override=host,
                storage_options=opts or None,
            )  # fmt: skip
        # other hosts commit too: a long-lived reader (the TUI) checks for their new
        # versions every few seconds, each query still reads one consistent version
        return lancedb.connect(
            self.uri,
            storage_options=dict(self.options),
            read_consistency_interval=timedelta(seconds=READ_CONSISTENCY_S),
        )

    def worker_options(self, environ: Any = None) -> dict[str, str]:
        """The storage options for a process on another node (a Ray worker), which does
        not have this process's environment: the options plus the object-store
        credentials this process takes from ``AWS_*`` variables. They travel inside the
        cluster (Ray's object store), are never shown, and :meth:`scrub` knows them."""
        env = os.environ if environ is None else environ
        opts = dict(self.options)
        for var, key in _ENV_CREDENTIALS:
            if env.get(var) and key not in opts:
                opts[key] = env[var]
        return opts

    def key(self) -> str:
        """A name for this location in a lock file name (no secrets)."""
        import hashlib

        return hashlib.sha256(self.uri.encode()).hexdigest()[:16]


def local_location(data_dir: Path | str) -> StorageLocation:
    path = Path(data_dir) / "lancedb"
    return StorageLocation(str(path), {}, path)


def location_for(settings: Settings, environ: dict[str, str] | None = None) -> StorageLocation:
    """The location ``settings.storage`` names (the data dir when ``uri`` is empty)."""
    st = settings.storage
    uri = st.uri.strip()
    if not uri:
        return local_location(settings.data_path)
    if uri.startswith("file://") or "://" not in uri:
        path = Path(uri.removeprefix("file://")).expanduser()
        return StorageLocation(str(path), {}, path)
    if not uri.startswith(_REMOTE_SCHEMES):
        raise StorageConfigError(
            f"storage.uri: unsupported scheme in {uri.split('://', 1)[0]!r}://: use "
            "s3://bucket/prefix, gs://, az://, db:// or a local folder"
        )
    options = {str(k): str(v) for k, v in st.options.items()}
    secret = sorted(k for k in options if k.lower() in SECRET_KEYS)
    if secret:
        raise StorageConfigError(
            f"storage.options.{secret[0]}: keep credentials out of config files (they "
            "are shown with the settings): set them in the environment (AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, LANCEDB_API_KEY) or name a "
            "storage.profile"
        )
    env = os.environ if environ is None else environ
    if st.profile:
        options = {**profile_credentials(st.profile, env), **options}
    if st.allow_http:
        options["allow_http"] = "true"
    elif options.get("allow_http", "").lower() in ("true", "1"):
        raise StorageConfigError(
            "storage.options.allow_http: set storage.allow_http = true to allow a "
            "plain-HTTP endpoint (credentials then cross the network unencrypted)"
        )
    endpoint = options.get("endpoint") or options.get("aws_endpoint") or ""
    if endpoint.startswith("http://") and not st.allow_http:
        raise StorageConfigError(
            f"storage.options.endpoint is plain HTTP ({endpoint.split('@')[-1]}): use https, "
            "or set storage.allow_http = true for a trusted (loopback) endpoint"
        )
    return StorageLocation(uri.rstrip("/"), options, None)


def profile_credentials(profile: str, environ: Any) -> dict[str, str]:
    """The keys of AWS profile ``profile`` (``~/.aws/credentials``, or
    ``$AWS_SHARED_CREDENTIALS_FILE``), and its region from ``~/.aws/config``."""
    home = Path.home()
    cred_file = Path(environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    conf_file = Path(environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    creds = configparser.ConfigParser(interpolation=None)
    creds.read(cred_file)
    if not creds.has_section(profile):
        raise StorageConfigError(
            f"storage.profile: no profile [{profile}] in {cred_file}; add its "
            "aws_access_key_id / aws_secret_access_key there, or unset storage.profile "
            "to use the AWS_* environment variables"
        )
    out: dict[str, str] = {}
    for key in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
        if creds.get(profile, key, fallback=""):
            out[key] = creds.get(profile, key)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(conf_file)
    section = "default" if profile == "default" else f"profile {profile}"
    region = conf.get(section, "region", fallback="") or creds.get(profile, "region", fallback="")
    if region:
        out["region"] = region
    return out
