// username is looked up when printed: no arithmetic on it (uid is the id)
BEGIN { @ = username + 1; }
