#!/usr/bin/env bash
# Build the installable Linux bundle (no Python needed on the office PC):
#   dist/pension-levy/                        the one-folder program (run dist/pension-levy/pension-levy)
#   dist/pension-levy-VERSION-linux-ARCH.tar.gz   the same folder packed, to unpack anywhere
#   dist/pension-levy_VERSION_ARCH.deb        for 统信 UOS / 麒麟 / Debian / Ubuntu (when dpkg-deb is present)
# The spec is packaging/pension-levy.spec. Prints the bundle's size; `--smoke` also starts the built program.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
.venv/bin/python -m pip install -q "pyinstaller>=6.10,<7"
rm -rf build/pyinstaller dist/pension-levy
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/pension-levy.spec
app=dist/pension-levy/pension-levy
version=$(.venv/bin/python -c "from importlib.metadata import version; print(version('pension-levy'))")
arch=$(uname -m)
tarball="dist/pension-levy-$version-linux-$arch.tar.gz"
tar -C dist -czf "$tarball" pension-levy
echo "bundle: $(du -sh dist/pension-levy | cut -f1) in dist/pension-levy/, $(du -h "$tarball" | cut -f1) packed: $tarball"

if command -v dpkg-deb >/dev/null; then
  deb_arch=$(dpkg --print-architecture)
  root=build/deb/pension-levy
  rm -rf build/deb
  mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications"
  cp -a dist/pension-levy "$root/opt/pension-levy"
  ln -s /opt/pension-levy/pension-levy "$root/usr/bin/pension-levy"
  cat >"$root/usr/share/applications/pension-levy.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=居民养老保险征缴业务系统
Comment=城乡居民基本养老保险征缴后台业务系统
Exec=/opt/pension-levy/pension-levy
Terminal=false
Categories=Office;
DESKTOP
  # Qt's own libraries are in the bundle; these are the system's (X11/xcb, fonts, OpenGL) it loads them with.
  cat >"$root/DEBIAN/control" <<CONTROL
Package: pension-levy
Version: $version
Architecture: $deb_arch
Maintainer: 县人社局信息化 <it@localhost>
Depends: libegl1, libgl1, libfontconfig1, libglib2.0-0, libxkbcommon0, libxkbcommon-x11-0, libdbus-1-3, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1
Section: misc
Priority: optional
Description: 居民养老保险征缴业务系统
 城乡居民基本养老保险征缴后台业务系统（参保登记导入、特殊群体标识、补缴核定、退费审核、税务传递、统计）。
 The database stays in each user's ~/.local/share/pension-levy (or PENSION_DB_URL); removing the package keeps it.
CONTROL
  deb="dist/pension-levy_${version}_${deb_arch}.deb"
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
  echo "deb: $(du -h "$deb" | cut -f1) $deb"
fi

if [ "${1:-}" = "--smoke" ]; then
  "$app" --version
  QT_QPA_PLATFORM=offscreen "$app" --db "sqlite:///$(mktemp -d)/smoke.db" --smoke-test
fi
