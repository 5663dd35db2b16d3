"""Channel settings shared by the sync and async clients: TLS, API key, default metadata."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import grpc

Metadata = Sequence[Tuple[str, str]]

#: The default server address (kato-server's default port).
DEFAULT_TARGET = "127.0.0.1:50051"


@dataclass(frozen=True)
class TLSConfig:
    """TLS settings for a connection.

    * ``ca_path`` -- PEM file of the CA(s) that signed the server's certificate; ``None``
      uses the system roots (grpc's default).
    * ``cert_path`` / ``key_path`` -- PEM client certificate chain and private key, for a
      server that requires client certificates (mTLS). Give both or neither.
    * ``server_name`` -- the name to verify the server's certificate against (and send as
      SNI) when it differs from the host in ``target``, e.g. connecting to an IP address.
    """

    ca_path: Optional[Union[str, pathlib.Path]] = None
    cert_path: Optional[Union[str, pathlib.Path]] = None
    key_path: Optional[Union[str, pathlib.Path]] = None
    server_name: Optional[str] = None

    def credentials(self) -> grpc.ChannelCredentials:
        if (self.cert_path is None) != (self.key_path is None):
            raise ValueError("TLSConfig: give both cert_path and key_path, or neither")
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_path), private_key=_read(self.key_path),
            certificate_chain=_read(self.cert_path))


TLSLike = Union[None, bool, TLSConfig]


def _read(path: Optional[Union[str, pathlib.Path]]) -> Optional[bytes]:
    return None if path is None else pathlib.Path(path).read_bytes()


#: grpc's channel waits 1 s, then ×1.6 up to 120 s between connection attempts to a server that
#: refused: calls in between fail at once with UNAVAILABLE. A subscription resuming every 0.1–2 s
#: for 30 s (``Resumption``) would then find a replica that came back after 20 s only at grpc's
#: next attempt (≈26 s, then ≈42 s: past its budget). These keep the channel's attempts as close
#: together as the resumption's own; a caller's value for a key wins. Not
#: ``grpc.min_reconnect_backoff_ms``: grpc-core takes it as the minimum time a connection attempt
#: is given (20 s by default), and at 100 ms a TLS handshake with a busy server failed as
#: UNAVAILABLE "tcp handshaker shutdown".
RECONNECT_BACKOFF = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


def channel_settings(tls: TLSLike, options: Iterable[Tuple[str, object]]
                     ) -> Tuple[Optional[grpc.ChannelCredentials], List[Tuple[str, object]]]:
    """(credentials or None for plaintext, channel options)."""
    opts = list(options)
    given = {key for key, _ in opts}
    opts.extend(option for option in RECONNECT_BACKOFF if option[0] not in given)
    if tls is None or tls is False:
        return None, opts
    if tls is True:
        return grpc.ssl_channel_credentials(), opts
    if isinstance(tls, TLSConfig):
        if tls.server_name:
            opts.append(("grpc.ssl_target_name_override", tls.server_name))
        return tls.credentials(), opts
    raise TypeError(f"tls must be None, True or a TLSConfig, not {type(tls).__name__}")


def call_metadata(api_key: Optional[str], metadata: Metadata) -> Tuple[Tuple[str, str], ...]:
    """The metadata sent with every call: ``authorization: Bearer <api_key>`` plus the caller's pairs."""
    pairs: List[Tuple[str, str]] = []
    if api_key:
        pairs.append(("authorization", f"Bearer {api_key}"))
    pairs.extend((str(k).lower(), v) for k, v in metadata)
    return tuple(pairs)
