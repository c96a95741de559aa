BEGIN { for ($i : 0..comm) { } }
