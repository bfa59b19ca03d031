namespace AutoKl.Testing

/// Forward-mode gradient checks (to be written).
module internal ForwardCheckPlaceholder =
    let private unused = ()
