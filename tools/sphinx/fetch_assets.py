"""Serve MathJax and the Jupyter widget manager from the book's own files, so that it reads offline.

A Sphinx extension (listed under `sphinx.local_extensions` in _config.yml), so every
`jupyter-book build` runs it, and a script:

    python tools/sphinx/fetch_assets.py [CACHE]     fetch into CACHE (default _build/.offline-assets)

By default a Jupyter Book page loads MathJax, RequireJS and the widget manager from public CDNs;
without a network the math stays raw TeX and the widgets stay blank. At the start of a build this
extension fetches the pinned npm packages below from the npm registry that npm itself uses
(`npm config get registry`, else the public registry), checks each tarball against the pinned
sha512 integrity, and keeps only the files a page loads in a cache folder under `_build/`, so a
rebuild fetches nothing. It then adds the cache to `html_static_path` and points `mathjax_path` and
myst-nb's `nb_ipywidgets_js` at the copies in `_static/`. Without a network and without a cache the
build warns (which fails `make book`, since it builds with -W) and keeps the CDN addresses.
"""
import base64
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / "_build" / ".offline-assets"
PUBLIC_REGISTRY = "https://registry.npmjs.org/"

# name, version, the tarball's integrity as the registry publishes it, the folder under _static/,
# and which files of the package's es5/ or dist/ folder a page can load.
MATHJAX_BUNDLES = ("tex-", "mml-", "node-main.js", "latest.js")  # alternatives to tex-mml-chtml.js
PACKAGES = [
    {
        "name": "mathjax",
        "version": "3.2.2",
        "integrity": "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "folder": "mathjax",
        "root": "es5/",
        # tex-mml-chtml.js plus what it loads on demand: TeX extensions, fonts, the menu, and the
        # accessibility tools (speech rule engine) a reader can switch on from the menu
        "keep": lambda f: "/" in f or f == "tex-mml-chtml.js" or not f.startswith(MATHJAX_BUNDLES),
    },
    {
        "name": "requirejs",
        "version": "2.3.4",
        "integrity": "sha512-qPD5gRrj6kGQ0ZySAJgqbArkaDqPMbQIT0zSZDkIv1mfA17w/tR2Faq5l2qqRf2CdQx6FWln9nUrgd2UDzb19A==",
        "folder": "requirejs",
        "root": "",
        "keep": lambda f: f == "require.js",  # its licence is in the file's header
    },
    {
        "name": "@jupyter-widgets/html-manager",
        "version": "1.0.6",
        "integrity": "sha512-+Mn+Ra8wyIHrYaUpfmf9A3dsLkt/NuwzPQN8sthdxBD35VV5cOJbpmgMhNR27n/rmP3mKyEe0PWCJrtZrXTXDQ==",
        "folder": "html-manager",
        "root": "dist/",
        # embed-amd.js and the icon fonts its bundled CSS refers to
        "keep": lambda f: f == "embed-amd.js" or f.endswith((".woff2", ".woff", ".ttf", ".eot", ".svg")),
    },
]
LICENCES = ("LICENSE", "LICENSE.txt")
# What the pages load, relative to _static/. The widget manager 1.0.6 looks for its icon fonts beside
# its AMD module name, which RequireJS resolves against the page rather than the script, and it
# typesets labels with MathJax 2's `MathJax.Hub.Queue`; the script between the two gives it both.
MATHJAX_PATH = "mathjax/tex-mml-chtml.js"
WIDGET_GLUE = """\
require.config({paths: {"@jupyter-widgets/html-manager/dist":
  document.documentElement.dataset.content_root + "_static/html-manager"}});
if (window.MathJax && !window.MathJax.version) {
  window.MathJax.startup = {...window.MathJax.startup, ready() {
    MathJax.startup.defaultReady();
    MathJax.Hub = {Queue: (...jobs) => jobs.forEach(job => MathJax.typesetPromise([job[2]]))};
  }};
}"""
IPYWIDGETS_JS = {"requirejs/require.js": {}, "": {"body": WIDGET_GLUE}, "html-manager/embed-amd.js": {}}
STAMP = ".fetched"


class FetchError(Exception):
    """A package could not be fetched or did not match its pinned integrity."""


def registry():
    """The npm registry URL: npm's own setting if npm is installed, else the public registry."""
    url = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
    if not url and shutil.which("npm"):
        try:
            url = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            url = None
    url = url if url and url.startswith(("http://", "https://")) else PUBLIC_REGISTRY
    return url if url.endswith("/") else url + "/"


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as err:
        raise FetchError(f"could not download {url}: {getattr(err, 'reason', err)}") from err


def _tarball(pkg, base):
    """The package's tarball, from the address in the registry's metadata, checked against the pin."""
    meta_url = f"{base}{urllib.parse.quote(pkg['name'], safe='@')}/{pkg['version']}"
    dist = json.loads(_get(meta_url))["dist"]
    if dist.get("integrity") != pkg["integrity"]:
        raise FetchError(f"{meta_url} publishes integrity {dist.get('integrity')}, "
                         f"but {pkg['name']}@{pkg['version']} is pinned to {pkg['integrity']}")
    data = _get(dist["tarball"])
    algorithm, digest = pkg["integrity"].split("-", 1)
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != digest:
        raise FetchError(f"{dist['tarball']} does not match its {algorithm} integrity: refusing to use it")
    return data


def _select(pkg, files):
    """The files of the package to serve, as {path in the package: path under the folder}."""
    root = "package/" + pkg["root"]
    selected = {f: f[len(root):] for f in files if f.startswith(root) and pkg["keep"](f[len(root):])}
    selected.update({f"package/{name}": name for name in LICENCES if f"package/{name}" in files})
    return selected


def _pin(pkg):
    return f"{pkg['name']}@{pkg['version']} {pkg['integrity']}\n"


def is_cached(pkg, cache):
    stamp = cache / pkg["folder"] / STAMP
    return stamp.is_file() and stamp.read_text() == _pin(pkg)


def fetch(pkg, cache, base):
    """Download the package from the registry at `base` and keep its served files in `cache/<folder>`."""
    data = _tarball(pkg, base)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    selected = _select(pkg, files)
    if any(".." in pathlib.PurePosixPath(dest).parts for dest in selected.values()):
        raise FetchError(f"{pkg['name']}: the tarball has a path outside its package folder")
    cache.mkdir(parents=True, exist_ok=True)
    # write beside the target and swap it in, so an interrupted fetch never leaves half a folder
    staging = pathlib.Path(tempfile.mkdtemp(dir=cache, prefix=f".{pkg['folder']}-"))
    try:
        for source, dest in selected.items():
            (staging / dest).parent.mkdir(parents=True, exist_ok=True)
            (staging / dest).write_bytes(files[source])
        (staging / STAMP).write_text(_pin(pkg))
        target = cache / pkg["folder"]
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch_all(cache=DEFAULT_CACHE):
    """Fetch every package that is not in the cache yet; return the cache folder."""
    missing = [pkg for pkg in PACKAGES if not is_cached(pkg, cache)]
    base = registry() if missing else None
    for pkg in missing:
        print(f"fetching {pkg['name']}@{pkg['version']} from {base}", flush=True)
        fetch(pkg, cache, base)
    return cache


def _configure(app, config):
    from sphinx.util import logging

    try:
        cache = fetch_all(pathlib.Path(app.srcdir) / "_build" / ".offline-assets")
    except FetchError as err:
        logging.getLogger(__name__).warning(
            f"{err}. The pages will load MathJax and the widget manager from public CDNs and need a "
            "network to show math and widgets; build again when online to make them self-contained.",
            type="offline_assets")
        return
    config.html_static_path = [*config.html_static_path, str(cache)]
    config.mathjax_path = MATHJAX_PATH
    config.nb_ipywidgets_js = IPYWIDGETS_JS


def setup(app):
    # before myst-nb reads nb_ipywidgets_js (at builder-inited) and Sphinx copies the static files
    app.connect("config-inited", _configure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    try:
        where = fetch_all(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE)
    except FetchError as err:
        sys.exit(f"fetch_assets: {err}")
    print(f"offline assets ready in {where}")
