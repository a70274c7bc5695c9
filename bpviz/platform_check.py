"""Before Qt starts: can the window open here? A clear word instead of Qt's abort.

On Linux, Qt draws through a *platform plugin*. The X11 one, ``libqxcb.so`` inside PySide6, needs
system libraries that a desktop usually has but a minimal install may lack (``libxcb-cursor0`` is
the classic one). When one is missing, ``QApplication`` prints "could not load the Qt platform
plugin xcb" and aborts the process (exit 134). So before it is created, :func:`platform_problem`
checks what the plugin will need and says in one line which system package to install; with no
display at all, or a display no X server answers on (Qt aborts then too), it says that. It imports
no Qt.

The check is made only when the platform will surely be xcb: on Linux, ``QT_QPA_PLATFORM`` unset
or ``xcb``, a ``DISPLAY`` set (and, when unset, no ``WAYLAND_DISPLAY``: Qt may then use Wayland,
where missing X11 libraries do not matter). The libraries checked are the plugin's own
dependencies, read from its ELF header, and those of the Qt libraries bundled with PySide6 that it
loads, so the check follows the installed Qt release; each is tried with the dynamic loader, as
Qt will. ``BPVIZ_NO_PLATFORM_CHECK=1`` skips it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import struct
import sys
from pathlib import Path
from typing import Callable, Iterable, Mapping

# soname → (Debian/Ubuntu package, Fedora package). The libraries Qt 6's xcb plugin and the Qt
# libraries under it link against; a soname missing from here is named as it is.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),     # Qt 6 before 6.5 or so
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
}

# The C and C++ runtimes: present wherever Python runs, and not worth a dlopen.
BASE_LIBRARIES = ("libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "libstdc++.so",
                  "libgcc_s.so", "ld-linux", "ld64.so")

SKIP_VARIABLE = "BPVIZ_NO_PLATFORM_CHECK"


def platform_problem(env: Mapping[str, str] | None = None, system: str | None = None,
                     can_load: Callable[[str], bool] | None = None,
                     plugin: Path | None = None, distro: Iterable[str] | None = None,
                     can_connect: Callable[[str], bool] | None = None) -> str | None:
    """One line saying why the window cannot open here, or None when it should (or when this
    cannot tell: another platform, no xcb plugin found).

    Everything it looks at can be given: ``env`` (default ``os.environ``), ``system`` (default
    ``sys.platform``), ``can_load(soname)`` (default: the dynamic loader opens it), ``plugin``
    (default: PySide6's ``libqxcb.so``), ``distro`` (the ``ID`` and ``ID_LIKE`` words of
    ``/etc/os-release``, which choose between the apt-get and the dnf line) and
    ``can_connect(display)`` (default: libxcb connects to it, as Qt will)."""
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if not system.startswith("linux") or env.get(SKIP_VARIABLE, "") not in ("", "0"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").strip()
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not platform:
        if not display and not wayland:
            return ("bpviz: no display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window "
                    "has nowhere to open; start bpviz from a desktop session (or ssh -X), or use "
                    "the headless commands (bpviz train, bpviz snapshot)")
        if wayland:          # Qt may choose Wayland, where X11 libraries do not matter
            return None
    elif platform.split(":")[0] != "xcb":
        return None
    elif not display:
        return ("bpviz: no display: QT_QPA_PLATFORM is xcb but DISPLAY is not set; start bpviz "
                "from a desktop session (or ssh -X), or use the headless commands (bpviz train, "
                "bpviz snapshot)")
    plugin = xcb_plugin() if plugin is None else plugin
    if plugin is None or not plugin.is_file():
        return None
    try:
        missing = missing_libraries(plugin, loadable if can_load is None else can_load)
    except (OSError, ValueError, struct.error):   # an unreadable plugin: let Qt speak for itself
        return None
    if missing:
        return missing_message(missing, os_release_ids() if distro is None else distro)
    if not (connects if can_connect is None else can_connect)(display):
        return (f"bpviz: the window cannot open: no X server answers on display {display} "
                f"(DISPLAY); start bpviz from a desktop session (or ssh -X), or use the headless "
                f"commands (bpviz train, bpviz snapshot)")
    return None


def xcb_plugin() -> Path | None:
    """PySide6's X11 platform plugin, found without importing PySide6 (None if not there)."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if path.is_file():
            return path
    return None


def missing_libraries(plugin: Path, can_load: Callable[[str], bool]) -> list[str]:
    """The system libraries ``plugin`` needs, directly or through the Qt libraries bundled beside
    it (``../../lib``), that ``can_load`` says cannot be loaded; in the order first needed."""
    bundled = plugin.parent.parent.parent / "lib"
    seen: set[str] = set()
    missing: list[str] = []
    todo = [plugin]
    while todo:
        for soname in needed_libraries(todo.pop(0)):
            if soname in seen:
                continue
            seen.add(soname)
            if (bundled / soname).is_file():
                todo.append(bundled / soname)
            elif not soname.startswith(BASE_LIBRARIES) and not can_load(soname):
                missing.append(soname)
    return missing


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds and opens ``soname`` (with everything it needs)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def connects(display: str) -> bool:
    """Whether an X server answers on ``display``, asked through libxcb as Qt asks (True when
    libxcb cannot be loaded: then this cannot tell)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)    # never NULL: an error connection
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def missing_message(missing: list[str], distro: Iterable[str] = ()) -> str:
    """The one line for libraries ``missing``: what and which packages to install."""
    names = _listed(missing)
    verb = "is" if len(missing) == 1 else "are"
    known = [s for s in missing if s in PACKAGES]
    unknown = [s for s in missing if s not in PACKAGES]
    apt = f"sudo apt-get install {' '.join(_unique(PACKAGES[s][0] for s in known))}"
    dnf = f"sudo dnf install {' '.join(_unique(PACKAGES[s][1] for s in known))}"
    words = set(distro)
    if words & {"debian", "ubuntu"}:
        how = apt
    elif words & {"fedora", "rhel", "centos"}:
        how = dnf
    else:
        how = f"{apt} (Debian, Ubuntu) or {dnf} (Fedora)"
    them = "it" if len(missing) == 1 else "them"
    if not known:
        how = f"install the system package that provides {them}"
    else:
        how = f"install {them} with: {how}"
        if unknown:
            how += f", and the package that provides {_listed(unknown)}"
    return (f"bpviz: the window cannot open: Qt's X11 platform plugin (xcb) needs {names}, which "
            f"{verb} not installed; {how}")


def os_release_ids(path: str = "/etc/os-release") -> list[str]:
    """The ``ID`` and ``ID_LIKE`` words of os-release (e.g. ['ubuntu', 'debian']); [] if none."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    words = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            words += value.strip().strip("'\"").lower().split()
    return words


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF shared object: the sonames it links against, in order.
    Reads only the headers, the dynamic section and the names (raises ValueError for a file that
    is not ELF)."""
    with open(path, "rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ValueError(f"{path} is not an ELF file")
        e = "<" if ident[5] == 1 else ">"
        if ident[4] == 2:      # 64-bit
            (shoff,) = struct.unpack_from(e + "Q", ident, 0x28)
            shentsize, shnum = struct.unpack_from(e + "HH", ident, 0x3A)
            section, entry = e + "IIQQQQIIQQ", e + "qQ"
        else:
            (shoff,) = struct.unpack_from(e + "I", ident, 0x20)
            shentsize, shnum = struct.unpack_from(e + "HH", ident, 0x2E)
            section, entry = e + "IIIIIIIIII", e + "iI"
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        sections = [struct.unpack_from(section, table, k * shentsize) for k in range(shnum)]
        dynamic = next((s for s in sections if s[1] == 6), None)      # SHT_DYNAMIC
        if dynamic is None:
            return []
        strings_at = sections[dynamic[6]][4]                          # sh_link → its strtab
        f.seek(dynamic[4])
        raw = f.read(dynamic[5])
        raw = raw[:len(raw) - len(raw) % struct.calcsize(entry)]
        names = []
        for tag, value in struct.iter_unpack(entry, raw):
            if tag == 0:       # DT_NULL
                break
            if tag == 1:       # DT_NEEDED
                f.seek(strings_at + value)
                names.append(f.read(256).split(b"\0", 1)[0].decode("utf-8", "replace"))
        return names


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
