"""The console's dialogs. Each is opened with open(), never exec(): no nested loop inside a slot."""
