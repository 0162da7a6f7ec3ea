/* libFuzzer target for object-path decoding: any path a caller sends decodes to at most one domain
 * name or task id, and only a canonical path does (encode(decode(path)) == path); any name encodes
 * to a valid path that decodes back to the same name. */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "domain.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *input = NULL, *name = NULL, *path = NULL, *back = NULL, *task_path = NULL;
        uint64_t id;

        input = malloc(size + 1);
        if (!input)
                return 0;
        memcpy(input, data, size);
        input[size] = 0;

        /* The input as a path a caller sent; sd-bus only delivers valid object paths. */
        if (sd_bus_object_path_is_valid(input)) {
                if (guestos_path_to_name(input, &name) >= 0) {
                        assert(name && *name);
                        assert(guestos_path_from_name(name, &back) >= 0);
                        assert(strcmp(back, input) == 0);
                        free(back);
                        back = NULL;
                }
                if (task_path_to_id(input, &id) >= 0) {
                        assert(id > 0);
                        assert(asprintf(&task_path, TASK_PATH_PREFIX "/%" PRIu64, id) >= 0);
                        assert(strcmp(task_path, input) == 0);
                }
        }

        /* The input as a domain name (libvirt allows almost any string). */
        if (*input) {
                _cleanup_free_ char *decoded = NULL;

                assert(guestos_path_from_name(input, &path) >= 0);
                assert(sd_bus_object_path_is_valid(path));
                assert(guestos_path_to_name(path, &decoded) >= 0);
                assert(strcmp(decoded, input) == 0);
        }
        return 0;
}
