// The fuzz targets' handle on cli_output_stub.cpp, the stand-in for src/cli/output.cpp.
#pragma once

namespace txoutbox::cli {

/// Forgets every secret add_secret() registered (each input starts clean).
void forget_secrets();

}  // namespace txoutbox::cli
