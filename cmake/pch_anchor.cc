// The source of the precompiled-header owner targets (cmake/CloisonPch.cmake):
// CMake needs one translation unit to compile a precompiled header for.
// Nothing here is linked into anything.
