BEGIN { @ = args.vec; }
