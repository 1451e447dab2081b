#!/usr/bin/env bash
# Installs the Debian 12 packages gridmap needs, only those missing. Run as root (or with sudo).
set -euo pipefail
packages=(
  postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting  # database (pulls GDAL/GEOS/PROJ runtimes)
  gdal-bin                                                        # ogr2ogr: import benchmark baseline
  gettext                                                         # compilemessages for the UI translations
  fonts-wqy-microhei                                              # CJK font embedded in printed maps
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0            # WeasyPrint
  chromium poppler-utils                                          # browser tests, PDF -> PNG
)
python3 -c 'import ensurepip' 2>/dev/null || packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "missing Debian packages (install as root): ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
# Keep Debian from creating and starting its own cluster on 5432: gridmap runs a private one.
$sudo mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' | $sudo tee /etc/postgresql-common/createcluster.d/gridmap.conf >/dev/null
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
