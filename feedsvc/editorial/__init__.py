"""The editors' domain: human edits of translations, suggestions, approvals and corrections that teach the memory."""
