from realtoros_scheduler.main import main

main()
