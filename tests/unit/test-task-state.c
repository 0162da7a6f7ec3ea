/* The task state files (service/task-record.c, service/task-store.c): a record written is read
 * back the same, running and finished, Logoff and Lock (a file of the daemon before it knew kinds
 * reads as a Logoff); the strict parser refuses hostile text (truncated, garbage, wrong types, unknown keys,
 * out-of-range numbers, NULs and invalid UTF-8 in strings, text after the object); the store skips
 * files that are not its own (symlinks, other modes, too big, an id that is not the name's) and
 * hands out ids above every one a previous run reserved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "task-store.h"
#include "util.h"

#define UUID "0f6c2b8e-1d2a-4c3b-9e8f-a1b2c3d4e5f6"

static TaskRecord running_record(void) {
        TaskRecord r = {
                .id = 42,
                .vm_name = (char *) "db-prod \xc3\xa9",
                .description = (char *) "Logoff",
                .owner = 1000,
                .started_usec = 1700000000000000ULL,
                .percent = 50,
                .resume = { .os = GUEST_OS_LINUX, .guest_pid = 1234, .program_exited = true,
                            .relogin_expected = true, .deadline_usec = 1700000060000000ULL },
        };
        strcpy(r.vm_uuid, UUID);
        return r;
}

static TaskRecord finished_record(void) {
        TaskRecord r = running_record();

        r.complete = true;
        r.error = VPC_ERROR_TIMEOUT;
        r.error_message = (char *) "0xA0040202: 1 user(s) still logged on after 60 s: carol";
        r.finished_usec = 1700000061000000ULL;
        return r;
}

static int parse(const char *text, TaskRecord *rec) {
        _cleanup_free_ char *error = NULL;
        int r = task_record_parse(text, strlen(text), rec, &error);

        if (r < 0)
                assert_non_null(error);
        return r;
}

static void test_round_trip(void **state) {
        TaskRecord in[] = { running_record(), finished_record() };

        for (size_t i = 0; i < ELEMENTSOF(in); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(task_record_done) TaskRecord out = {};

                assert_int_equal(task_record_format(&in[i], &text), 0);
                assert_int_equal(parse(text, &out), 0);
                assert_int_equal(out.id, in[i].id);
                assert_string_equal(out.vm_uuid, in[i].vm_uuid);
                assert_string_equal(out.vm_name, in[i].vm_name);
                assert_string_equal(out.description, in[i].description);
                assert_int_equal(out.owner, in[i].owner);
                assert_int_equal(out.started_usec, in[i].started_usec);
                assert_int_equal(out.percent, in[i].percent);
                assert_int_equal(out.complete, in[i].complete);
                if (in[i].complete) {
                        assert_int_equal(out.error, in[i].error);
                        assert_string_equal(out.error_message, in[i].error_message);
                        assert_int_equal(out.finished_usec, in[i].finished_usec);
                } else {
                        assert_int_equal(out.resume.os, in[i].resume.os);
                        assert_int_equal(out.resume.guest_pid, in[i].resume.guest_pid);
                        assert_true(out.resume.program_exited);
                        assert_true(out.resume.relogin_expected);
                        assert_int_equal(out.resume.deadline_usec, in[i].resume.deadline_usec);
                }
        }
}

/* A valid running record with one key's value replaced by what follows. */
static char *with(const char *key, const char *value) {
        TaskRecord in = running_record();
        _cleanup_free_ char *text = NULL;
        char *out = NULL, *p, *end;

        assert_int_equal(task_record_format(&in, &text), 0);
        char needle[64];
        snprintf(needle, sizeof(needle), "\"%s\":", key);
        p = strstr(text, needle);
        assert_non_null(p);
        p += strlen(needle);
        /* The old value ends at the next "," or "}" outside a string (values here hold neither). */
        end = p + strcspn(p, ",}");
        assert_true(asprintf(&out, "%.*s%s%s", (int) (p - text), text, value, end) > 0);
        return out;
}

static void test_hostile(void **state) {
        static const char *const texts[] = {
                "",
                "{",
                "{\"version\":1,\"id\":42,\"vm_uuid\":\"",
                "[]",
                "null",
                "42",
                "\"task\"",
                "{}",
                "{\"version\":2}",
                "{\"version\":1,\"state\":\"running\"}",
                "{\"version\":1,\"state\":\"sleeping\"}",
                "\xff\xfe{}",
                "{\"version\":1} {\"version\":1}",
                "{'version':1}",
                "{\"version\":1,}",
        };
        static const struct { const char *key, *value; } fields[] = {
                { "version", "\"1\"" },
                { "version", "1.0" },
                { "id", "0" },
                { "id", "-1" },
                { "id", "\"42\"" },
                { "id", "18446744073709551615" },
                { "id", "9223372036854775808" },
                { "id", "1e3" },
                { "id", "true" },
                { "vm_uuid", "\"0F6C2B8E-1D2A-4C3B-9E8F-A1B2C3D4E5F6\"" },
                { "vm_uuid", "\"0f6c2b8e-1d2a-4c3b-9e8f-a1b2c3d4e5f\"" },
                { "vm_uuid", "\"../../../../etc/passwd\"" },
                { "vm_uuid", "null" },
                { "vm_name", "\"\"" },
                { "vm_name", "\"a\\u0000b\"" },
                { "vm_name", "[\"x\"]" },
                { "description", "{}" },
                { "owner", "-1" },
                { "owner", "4294967295" },
                { "owner", "4294967296" },
                { "percent", "101" },
                { "percent", "-5" },
                { "state", "\"finished\"" },   /* without error, message, finished_usec */
                { "kind", "\"reboot\"" },
                { "kind", "1" },
                { "kind", "null" },
                { "os", "\"unknown\"" },
                { "os", "1" },
                { "guest_pid", "-7" },
                { "guest_pid", "2147483648" },
                { "program_exited", "1" },
                { "relogin_expected", "\"true\"" },
                { "deadline_usec", "-1" },
                { "deadline_usec", "1.5" },
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(task_record_done) TaskRecord rec = {};
                assert_int_equal(parse(texts[i], &rec), -EBADMSG);
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                _cleanup_free_ char *text = with(fields[i].key, fields[i].value);
                _cleanup_(task_record_done) TaskRecord rec = {};

                if (parse(text, &rec) != -EBADMSG)
                        fail_msg("accepted %s", text);
        }

        /* An unknown key, a finished task's key in a running record, and program_exited without a pid. */
        {
                _cleanup_free_ char *a = with("percent", "5,\"extra\":1");
                _cleanup_free_ char *b = with("percent", "5,\"finished_usec\":1");
                _cleanup_free_ char *c = with("guest_pid", "0");
                TaskRecord rec = {};
                assert_int_equal(parse(a, &rec), -EBADMSG);
                assert_int_equal(parse(b, &rec), -EBADMSG);
                assert_int_equal(parse(c, &rec), -EBADMSG);
        }
        /* Invalid UTF-8 inside a string, and a NUL byte in the text. */
        {
                _cleanup_free_ char *a = with("vm_name", "\"\xc3\x28\"");
                char nul[] = "{\"version\":1}\0";
                _cleanup_free_ char *error = NULL;
                TaskRecord rec = {};
                assert_int_equal(parse(a, &rec), -EBADMSG);
                assert_int_equal(task_record_parse(nul, sizeof(nul) - 1, &rec, &error), -EBADMSG);
        }
        /* Too big, whatever it holds. */
        {
                _cleanup_free_ char *big = malloc(TASK_STATE_FILE_MAX + 2);
                _cleanup_free_ char *error = NULL;
                TaskRecord rec = {};
                memset(big, ' ', TASK_STATE_FILE_MAX + 1);
                big[0] = '{';
                big[TASK_STATE_FILE_MAX] = '}';
                big[TASK_STATE_FILE_MAX + 1] = 0;
                assert_int_equal(task_record_parse(big, TASK_STATE_FILE_MAX + 1, &rec, &error), -EBADMSG);
        }
        /* A finished record: an error name outside the table, a message with success, none with an error. */
        {
                TaskRecord fin = finished_record();
                _cleanup_free_ char *text = NULL;
                char *p;
                TaskRecord rec = {};

                assert_int_equal(task_record_format(&fin, &text), 0);
                p = strstr(text, "org.vpc.Error.Timeout");
                assert_non_null(p);
                memcpy(p, "org.vpc.Error.Tinmeou", 21);
                assert_int_equal(parse(text, &rec), -EBADMSG);

                fin.error = VPC_OK;
                free(text);
                text = NULL;
                assert_int_equal(task_record_format(&fin, &text), 0);
                assert_int_equal(parse(text, &rec), -EBADMSG);

                fin.error = VPC_ERROR_TIMEOUT;
                fin.error_message = NULL;
                free(text);
                text = NULL;
                assert_int_equal(task_record_format(&fin, &text), 0);
                assert_int_equal(parse(text, &rec), -EBADMSG);
        }
}

/* A Lock's running record says so, and comes back a Lock; the text a daemon wrote before kinds
 * existed (every running task a Logoff, no "kind") still loads, as a Logoff. */
static void test_kind(void **state) {
        static const char old[] =
                "{\"version\":1,\"id\":42,\"vm_uuid\":\"" UUID "\",\"vm_name\":\"db\",\"description\":\"Logoff\","
                "\"owner\":1000,\"started_usec\":1700000000000000,\"percent\":50,\"state\":\"running\","
                "\"os\":\"linux\",\"guest_pid\":1234,\"program_exited\":true,\"relogin_expected\":false,"
                "\"deadline_usec\":1700000060000000}\n";
        TaskRecord in = running_record();
        _cleanup_free_ char *text = NULL;
        _cleanup_(task_record_done) TaskRecord lock = {}, logoff = {}, legacy = {};

        assert_int_equal(task_record_format(&in, &text), 0);
        assert_non_null(strstr(text, "\"kind\":\"logoff\""));
        assert_int_equal(parse(text, &logoff), 0);
        assert_int_equal(logoff.resume.kind, TASK_KIND_LOGOFF);

        in.description = (char *) "Lock";
        in.resume = (TaskResume) { .kind = TASK_KIND_LOCK, .os = GUEST_OS_WINDOWS, .guest_pid = 77,
                                   .deadline_usec = 1700000060000000ULL };
        free(text);
        text = NULL;
        assert_int_equal(task_record_format(&in, &text), 0);
        assert_non_null(strstr(text, "\"kind\":\"lock\""));
        assert_int_equal(parse(text, &lock), 0);
        assert_int_equal(lock.resume.kind, TASK_KIND_LOCK);
        assert_int_equal(lock.resume.os, GUEST_OS_WINDOWS);
        assert_int_equal(lock.resume.guest_pid, 77);
        assert_string_equal(lock.description, "Lock");

        assert_int_equal(parse(old, &legacy), 0);
        assert_int_equal(legacy.resume.kind, TASK_KIND_LOGOFF);
        assert_int_equal(legacy.resume.guest_pid, 1234);
        assert_true(legacy.resume.program_exited);
        assert_int_equal(legacy.percent, 50);
}

/* A message with control characters (a forged file) comes back escaped, as the bus needs it. */
static void test_message_sanitized(void **state) {
        TaskRecord fin = finished_record();
        _cleanup_free_ char *text = NULL;
        _cleanup_(task_record_done) TaskRecord out = {};

        fin.error_message = (char *) "0x80020009: a\033[2Jb";
        assert_int_equal(task_record_format(&fin, &text), 0);
        assert_int_equal(parse(text, &out), 0);
        assert_null(strchr(out.error_message, '\033'));
        assert_non_null(strstr(out.error_message, "\\x1b"));
}

static char dir[] = "/tmp/test-task-state.XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
}

static void count_visit(const TaskRecord *rec, void *userdata) {
        uint64_t *seen = userdata;

        seen[0]++;
        seen[1] = rec->id;
}

static void test_store(void **state) {
        TaskStore s;
        TaskRecord rec = finished_record();
        _cleanup_free_ char *good = NULL;
        uint64_t seen[2] = {}, next;
        char path[256];

        assert_non_null(mkdtemp(dir));
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(setenv("RUNTIME_DIRECTORY", dir, 1), 0);
        assert_int_equal(task_store_open(&s), 0);

        /* Ids: the first start reserves a block; the next run starts above it. */
        assert_int_equal(task_store_load(&s, count_visit, seen, &next), 0);
        assert_int_equal(next, 1);
        assert_int_equal(task_store_reserve(&s, 1), 0);
        assert_int_equal(s.id_reserved, 1 + TASK_ID_BLOCK);
        assert_int_equal(task_store_reserve(&s, 2), 0);
        assert_int_equal(s.id_reserved, 1 + TASK_ID_BLOCK);

        assert_int_equal(task_store_save(&s, &rec), 0);
        assert_int_equal(task_record_format(&rec, &good), 0);
        /* Hostile neighbours: a symlink to a valid record, a world-writable copy, an id that is
         * not the name's, a file too big, garbage, a leftover temporary file. */
        snprintf(path, sizeof(path), "%s/task-42", dir);
        assert_int_equal(symlink(path, (snprintf(path, sizeof(path), "%s/task-43", dir), path)), 0);
        write_file("task-44", good, 0666);
        write_file("task-45", good, 0600);
        write_file("task-46", "garbage", 0600);
        write_file(".tmp-abcdef", good, 0600);
        {
                _cleanup_free_ char *big = malloc(TASK_STATE_FILE_MAX + 100);
                memset(big, ' ', TASK_STATE_FILE_MAX + 99);
                big[TASK_STATE_FILE_MAX + 99] = 0;
                write_file("task-47", big, 0600);
        }
        write_file("not-a-task", good, 0600);
        task_store_close(&s);

        assert_int_equal(task_store_open(&s), 0);
        assert_int_equal(task_store_load(&s, count_visit, seen, &next), 0);
        assert_int_equal(seen[0], 1);
        assert_int_equal(seen[1], 42);
        /* Above every id in a name and above the reserved block. */
        assert_int_equal(next, 1 + TASK_ID_BLOCK);
        snprintf(path, sizeof(path), "%s/.tmp-abcdef", dir);
        assert_int_equal(access(path, F_OK), -1);
        /* The skipped files are gone (the symlink itself, not what it names); others stay. */
        snprintf(path, sizeof(path), "%s/task-46", dir);
        assert_int_equal(access(path, F_OK), -1);
        snprintf(path, sizeof(path), "%s/task-43", dir);
        assert_int_equal(faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW), -1);
        snprintf(path, sizeof(path), "%s/task-42", dir);
        assert_int_equal(access(path, F_OK), 0);
        snprintf(path, sizeof(path), "%s/not-a-task", dir);
        assert_int_equal(access(path, F_OK), 0);

        assert_int_equal(task_store_delete(&s, 42), 0);
        assert_int_equal(task_store_delete(&s, 42), 0);
        task_store_close(&s);

        /* A directory that is not there, or writable by others: not used, and said so. */
        assert_int_equal(chmod(dir, 0777), 0);
        assert_int_equal(task_store_open(&s), -EPERM);
        assert_false(task_store_usable(&s));
        assert_int_equal(setenv("RUNTIME_DIRECTORY", "/nonexistent/vpc:/tmp", 1), 0);
        assert_true(task_store_open(&s) < 0);
        assert_int_equal(task_store_save(&s, &rec), 0);         /* a no-op */

        assert_int_equal(system((snprintf(path, sizeof(path), "rm -rf '%s'", dir), path)), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_kind),
                cmocka_unit_test(test_message_sanitized),
                cmocka_unit_test(test_store),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
