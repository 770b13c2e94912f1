"""Object reads on anybody's GCS bucket, for reference sources (``artcli/sources/gs.py``).

The filesystem is the one a ``gs://`` store uses (:func:`artcli.store.gcs.make_gcs_filesystem`:
strict options, fail-fast connection retries, timeouts, gcsfs's log output silenced), so a dead
endpoint fails in seconds with one line as a ``gs://`` remote does. Every call is translated
here: callers see only :mod:`artcli.errors` classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from artcli.store.errors import translate
from artcli.store.gcs import make_gcs_filesystem


class GcsObjects:
    """Translated reads of objects in any bucket the credentials reach (JSON API via gcsfs)."""

    def __init__(self, options: Mapping[str, str] | None) -> None:
        self._fs = make_gcs_filesystem(options, "gs://")

    def meta(self, bucket: str, key: str, uri: str) -> dict[str, Any] | None:
        """The object's metadata (size, generation, md5Hash, crc32c), or None when there is none."""
        from artcli.errors import NotFoundError

        try:
            with translate(uri):
                return dict(self._fs.call("GET", "b/{}/o/{}", bucket, key, json_out=True))
        except NotFoundError:
            return None

    def list_page(self, bucket: str, params: Mapping[str, Any], uri: str) -> dict[str, Any]:
        """One page of the object listing (``items``, ``nextPageToken``)."""
        with translate(uri):
            return dict(self._fs.call("GET", "b/{}/o", bucket, json_out=True, **params))

    def download(self, bucket: str, key: str, dest: Path, uri: str, generation: str | None = None) -> None:
        """Write the object (a given generation of it) to ``dest``; NotFoundError when it is gone."""
        with translate(uri):
            self._fs.get_file(f"{bucket}/{key}", str(dest), concurrency=1,
                              **({"generation": str(generation)} if generation else {}))

    def close(self) -> None:
        """Nothing to release: gcsfs closes its session when the process ends."""
