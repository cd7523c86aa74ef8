from realtoros_composer.main import main

main()
