import CPCRE2
import COpenSSL
import CSQLite3
import Testing

@Suite struct SystemLibraryTests {
    @Test func pcre2CompilesWithJITAndMatches() throws {
        let pattern = Array(#"\b4[0-9]{12}(?:[0-9]{3})?\b"#.utf8)
        var errorCode: Int32 = 0
        var errorOffset = 0
        let code = try #require(pcre2_compile_8(pattern, pattern.count, 0, &errorCode, &errorOffset, nil))
        defer { pcre2_code_free_8(code) }
        #expect(pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE)) == 0)
        let data = pcre2_match_data_create_from_pattern_8(code, nil)
        defer { pcre2_match_data_free_8(data) }
        let subject = Array("card 4111111111111111 here".utf8)
        #expect(pcre2_match_8(code, subject, subject.count, 0, 0, data, nil) > 0)
        let clean = Array("no card".utf8)
        #expect(pcre2_match_8(code, clean, clean.count, 0, 0, data, nil) == PCRE2_ERROR_NOMATCH)
    }

    @Test func pcre2ReportsTheErrorOffsetOfABadPattern() {
        let pattern = Array("abc(".utf8)
        var errorCode: Int32 = 0
        var errorOffset = 0
        let code = pcre2_compile_8(pattern, pattern.count, 0, &errorCode, &errorOffset, nil)
        #expect(code == nil)
        #expect(errorOffset == 4)
    }

    @Test func openSSLIsVersion3AndMakesAContext() throws {
        #expect(OPENSSL_version_major() >= 3)
        let context = try #require(SSL_CTX_new(TLS_method()))
        SSL_CTX_free(context)
    }

    @Test func sqliteRunsAQueryInMemory() throws {
        var db: OpaquePointer?
        #expect(sqlite3_open(":memory:", &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        #expect(sqlite3_prepare_v2(db, "SELECT 6 * 7", -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        #expect(sqlite3_step(statement) == SQLITE_ROW)
        #expect(sqlite3_column_int(statement, 0) == 42)
    }
}
