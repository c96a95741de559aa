tracepoint:no_such_category:no_such_event { @ = count(); }
