# Placeholder: replaced by make livepatch (issue 6).
