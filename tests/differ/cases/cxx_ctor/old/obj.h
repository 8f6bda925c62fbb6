extern int destroyed;
struct Widget {
    int v;
    explicit Widget(int x);
    ~Widget();
};
// Gadget's constructor runs Widget's base-object constructor (C2); a plain
// Widget runs the complete-object one (C1): one code body at -O2 (an alias).
struct Gadget : Widget {
    Gadget();
};
