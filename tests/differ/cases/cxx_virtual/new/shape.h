struct Shape {
    virtual ~Shape() {}
    virtual int area() const = 0;
};
struct Square : Shape {
    int side;
    explicit Square(int s) : side(s) {}
    int area() const override;
};
struct Circle : Shape {
    int r;
    explicit Circle(int x) : r(x) {}
    int area() const override;
};
Shape *make_shape(int k);
