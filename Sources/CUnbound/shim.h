// libunbound (Debian's libunbound-dev). Its pkg-config file names .pc files Debian does not install,
// so the module map links "unbound" itself instead of using pkgConfig.
#include <unbound.h>
