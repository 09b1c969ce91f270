#!/usr/bin/env bash
# Vendor the web page's JavaScript libraries (netlab/web/static/vendor/) from the npm
# registry at the pinned versions below, with their licences. Run it to change a version;
# the page itself never reaches the network.
set -euo pipefail
cd "$(dirname "$0")/.."
CYTOSCAPE=3.34.4
XTERM=6.0.0
XTERM_FIT=0.11.0
vendor=netlab/web/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "cytoscape@$CYTOSCAPE" "@xterm/xterm@$XTERM" \
    "@xterm/addon-fit@$XTERM_FIT" >/dev/null)
unpack() { mkdir -p "$tmp/$1" && tar xzf "$tmp/$2" -C "$tmp/$1" --strip-components=1; }
unpack cytoscape "cytoscape-$CYTOSCAPE.tgz"
unpack xterm "xterm-xterm-$XTERM.tgz"
unpack fit "xterm-addon-fit-$XTERM_FIT.tgz"
rm -rf "$vendor"
mkdir -p "$vendor/cytoscape" "$vendor/xterm" "$vendor/xterm-addon-fit"
cp "$tmp/cytoscape/dist/cytoscape.min.js" "$tmp/cytoscape/LICENSE" "$vendor/cytoscape/"
cp "$tmp/xterm/lib/xterm.js" "$tmp/xterm/css/xterm.css" "$tmp/xterm/LICENSE" "$vendor/xterm/"
cp "$tmp/fit/lib/addon-fit.js" "$tmp/fit/LICENSE" "$vendor/xterm-addon-fit/"
{
    echo "# npm package, version, sha256 of its tarball (written by scripts/vendor_web.sh)"
    for tgz in "cytoscape-$CYTOSCAPE" "xterm-xterm-$XTERM" "xterm-addon-fit-$XTERM_FIT"; do
        echo "$tgz $(sha256sum "$tmp/$tgz.tgz" | cut -d' ' -f1)"
    done
} | sed -e 's/^cytoscape-/cytoscape /' -e 's/^xterm-xterm-/@xterm\/xterm /' \
        -e 's/^xterm-addon-fit-/@xterm\/addon-fit /' >"$vendor/VERSIONS"
echo "vendored into $vendor:" >&2
cat "$vendor/VERSIONS" >&2
