package nn

func axpy4(a0, a1, a2, a3 float32, b, c0, c1, c2, c3 []float32) {
	axpy4Generic(a0, a1, a2, a3, b, c0, c1, c2, c3)
}

func axpy1(a float32, b, c []float32) { axpy1Generic(a, b, c) }
