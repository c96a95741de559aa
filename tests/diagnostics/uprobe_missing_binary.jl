uprobe:/nonexistent/jl-binary:main { @ = count(); }
