# Shared by the scripts that build images with debootstrap (sourced).
# The first mirror of the main Debian archive in apt's configuration: deb822 `.sources` files
# (URIs + Suites) or one-line `deb URI SUITE COMPONENTS` entries; security and update suites are skipped.
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk '
      function flush() { if (uri != "" && main) { print uri; found = 1; exit } uri = ""; main = 0 }
      /^[ \t]*$/ { flush(); next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-(security|updates|backports)$/) main = 1 }
      /^Enabled:[ \t]*no/ { uri = "" }
      END { if (!found) flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) !~ /-(security|updates|backports)$/) { print $i; exit }
    }' "$f"
  done
}
