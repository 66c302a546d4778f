from h2otui.cli import main

if __name__ == "__main__":
    main()
