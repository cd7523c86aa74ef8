import sys

from realtoros_crm.main import main

sys.exit(main())
