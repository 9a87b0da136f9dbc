from nkipy_kg.demo import main

raise SystemExit(main())
