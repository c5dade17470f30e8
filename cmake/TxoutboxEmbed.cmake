# Embeds the shipped migration files of one dialect into a generated C++ source.
include_guard(GLOBAL)

# txoutbox_embed_migrations(dialect output): generates `output` defining
# txoutbox::detail::migrations_<dialect>() (filled in by the PostgreSQL work).
function(txoutbox_embed_migrations dialect output)
  file(WRITE ${output} "// generated placeholder\n")
endfunction()
