"""The Mesos fetcher for an app's `fetch` entries: download into the sandbox, extract.

As `mesos-fetcher` does: `file://` URIs and absolute paths are copied, `http://` and
`https://` URLs downloaded (HTTP 200 only); the file is named after `destPath`, else
everything after the URI's last `/`; `executable` makes it mode 0755, else with
`extract` an archive (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tbz2`, `.tar.xz`,
`.txz`, `.zip`, `.gz`) is unpacked into the sandbox and kept there.
"""

import gzip
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

DOWNLOAD_TIMEOUT_SECONDS = 60
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ARCHIVE_SUFFIXES = TAR_SUFFIXES + (".zip", ".gz")


class FetchError(Exception):
    """A URI could not be fetched or extracted; the message says which and why."""


def fetch_all(artifacts, sandbox, log):
    """Fetches every artifact into `sandbox` in order; `log(line)` gets one line per URI.

    Raises FetchError on the first failure.
    """
    for artifact in artifacts:
        path = _fetch_one(artifact, sandbox)
        log(f"Fetched '{artifact['uri']}' to '{path}'")


def _fetch_one(artifact, sandbox):
    uri = artifact["uri"]
    name = artifact.get("destPath") or uri.rsplit("/", 1)[-1]
    if not name:
        raise FetchError(f"Failed to fetch '{uri}': no file name in the URI")
    target = _inside(sandbox, name, uri)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    _download(uri, target)
    if artifact.get("executable", False):
        os.chmod(target, 0o755)
    elif artifact.get("extract", True):
        _extract(target, sandbox, uri)
    return target


def _inside(root, relative, uri):
    """`root/relative`, refusing a path that leaves `root`."""
    root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root, relative))
    if path != root and not path.startswith(root + os.sep):
        raise FetchError(f"Failed to fetch '{uri}': '{relative}' is outside the sandbox")
    return path


def _download(uri, target):
    parsed = urllib.parse.urlparse(uri)
    try:
        if parsed.scheme in ("http", "https"):
            with urllib.request.urlopen(uri, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response, \
                    open(target, "wb") as out:
                if response.status != 200:
                    raise FetchError(f"Failed to fetch '{uri}': Error downloading resource, "
                                     f"received HTTP return code {response.status}")
                shutil.copyfileobj(response, out)
        elif parsed.scheme == "file" or (not parsed.scheme and uri.startswith("/")):
            shutil.copyfile(urllib.parse.unquote(parsed.path), target)
        else:
            raise FetchError(f"Failed to fetch '{uri}': unsupported URI scheme "
                             "(expected file://, http://, https:// or an absolute path)")
    except urllib.error.HTTPError as e:
        raise FetchError(f"Failed to fetch '{uri}': Error downloading resource, "
                         f"received HTTP return code {e.code}") from None
    except (OSError, urllib.error.URLError) as e:
        raise FetchError(f"Failed to fetch '{uri}': {e}") from None


def _extract(path, sandbox, uri):
    lower = path.lower()
    try:
        if lower.endswith(".zip"):
            _extract_zip(path, sandbox, uri)
        elif lower.endswith(TAR_SUFFIXES):
            _extract_tar(path, sandbox, uri)
        elif lower.endswith(".gz"):
            with gzip.open(path, "rb") as packed, open(path[:-3], "wb") as out:
                shutil.copyfileobj(packed, out)
    except FetchError:
        raise
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
        raise FetchError(f"Failed to extract '{uri}': {e}") from None


def _extract_tar(path, sandbox, uri):
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        for member in members:
            _inside(sandbox, member.name, uri)
            if member.issym():
                _inside(sandbox, os.path.join(os.path.dirname(member.name), member.linkname), uri)
            elif member.islnk():
                _inside(sandbox, member.linkname, uri)
            elif not (member.isfile() or member.isdir()):
                raise FetchError(f"Failed to extract '{uri}': '{member.name}' is not a file, "
                                 "directory or link")
        archive.extractall(sandbox, members=members)


def _extract_zip(path, sandbox, uri):
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            target = _inside(sandbox, info.filename, uri)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                link = archive.read(info).decode()
                _inside(sandbox, os.path.join(os.path.dirname(info.filename), link), uri)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target):
                    os.remove(target)
                os.symlink(link, target)
                continue
            archive.extract(info, sandbox)
            if mode & 0o777 and not info.is_dir():
                os.chmod(target, mode & 0o777)
