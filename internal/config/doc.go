// Package config loads the YAML config files of Tollgate's commands and
// overlays environment variables, with the same rules for every command:
// defaults, then the file, then the environment, then flags.
package config
