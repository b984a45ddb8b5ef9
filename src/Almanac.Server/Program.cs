// Placeholder entry point; the host is built in the next commit.
return 0;
