// Publishers with no dependency: JSON lines to a file (fsynced) or to stdout.
#pragma once

#include <filesystem>
#include <memory>

#include "txoutbox/publisher.hpp"

namespace txoutbox {

struct file_publisher_options {
  std::filesystem::path path{};  ///< created if missing, always appended to
  /// fsync after each batch (a message counts as published only once its line is on
  /// disk). Turning it off trades durability for speed; only for tests and demos.
  bool fsync = true;
};

/// Appends one to_json_line() per record, then flushes and fsyncs before reporting `ok`.
/// A write or fsync failing with ENOSPC, EDQUOT, EACCES, EPERM, EROFS, EIO or EFBIG is
/// `unavailable` (the file is one route: route() stays empty), any other errno `retry`
/// (docs/publishers/file.md). Thread-safe: batches from different partitions are written
/// whole, never interleaved. Throws txoutbox::error(errc::io_failure) when the file
/// cannot be opened.
std::unique_ptr<publisher> make_file_publisher(const file_publisher_options& options);

/// Writes one to_json_line() per record to standard output and flushes; a failed write is
/// classified like the file publisher's (EPIPE, a reader gone, is `unavailable`).
/// Thread-safe.
std::unique_ptr<publisher> make_stdout_publisher();

}  // namespace txoutbox
