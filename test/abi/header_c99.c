/* header_c99.c - proves <blip/blip.h> compiles as strict C99 (-std=c99 -pedantic -Werror) and
 * that its functions link against and behave in the shared library. Returns 0 on success. */
#include <blip/blip.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

int main(void) {
    const char* version = blip_version();
    const char* unknown = blip_strerror(-9999);

    check(version != NULL && version[0] != '\0', "blip_version() is a non-empty string");
    check(version != NULL && strcmp(version, BLIP_VERSION_STRING) == 0,
          "blip_version() matches BLIP_VERSION_STRING");
    check(blip_version_number() == BLIP_VERSION_NUMBER,
          "blip_version_number() matches BLIP_VERSION_NUMBER");
    check(blip_strerror(BLIP_OK) != NULL, "blip_strerror(0) is not NULL");
    check(unknown != NULL && strcmp(unknown, "unknown error") == 0,
          "blip_strerror(unknown) is \"unknown error\"");
    check(strcmp(blip_err_name(BLIP_EINVAL), "BLIP_EINVAL") == 0,
          "blip_err_name(BLIP_EINVAL) is \"BLIP_EINVAL\"");
    check(strcmp(blip_err_name(1), "BLIP_E_UNKNOWN") == 0,
          "blip_err_name(unknown) is \"BLIP_E_UNKNOWN\"");

    if (failures == 0) {
        printf("OK: blip %s, C99 header check passed\n", version);
    }
    return failures == 0 ? 0 : 1;
}
