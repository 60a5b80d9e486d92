package blip

// version.go - the version of the libblip actually loaded, and of the header compiled against.

// #include <blip/blip.h>
import "C"

// Version returns the loaded library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.blip_version()) }

// VersionNumber returns the loaded library's version as MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() int { return int(C.blip_version_number()) }

// HeaderVersionNumber is the version of blip.h this package was compiled against, in the
// form of VersionNumber; a different major version means a mismatched library.
const HeaderVersionNumber = C.BLIP_VERSION_NUMBER
