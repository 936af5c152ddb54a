// Package teamsapp holds the sources of resetbot's Microsoft Teams app package: manifest.json (with
// placeholder IDs that `resetbot manifest teams --app-id ID` fills in) and the two icons Teams
// requires, drawn by icons.go. The package itself is built by adapters/teams (AppPackage).
//
// It imports nothing of resetbot's.
package teamsapp

import _ "embed"

// Manifest is manifest.json as committed: the bot ID and app ID are all-zero placeholders.
//
//go:embed manifest.json
var Manifest []byte

// ColorIcon is color.png: 192×192, the full-colour icon.
//
//go:embed color.png
var ColorIcon []byte

// OutlineIcon is outline.png: 32×32, white on transparent.
//
//go:embed outline.png
var OutlineIcon []byte
