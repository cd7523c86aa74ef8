from realtoros_mailer.main import main

raise SystemExit(main())
