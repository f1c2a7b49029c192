#!/usr/bin/env python3
"""Trains a small CNN with PyTorch on an ImageFolder dataset read from the Strata FUSE mount.

The dataset is what `strata bench dataset --format imagefolder` writes (train/class-NN/*.png);
torchvision's ImageFolder lists it through the mount and a DataLoader with several worker
processes reads and decodes the files in parallel, as a real training job would. Each epoch
prints its time, images/s, loss and accuracy; the model is saved to --checkpoint (on the mount).

    /usr/bin/python3 examples/pytorch_train.py --data_dir /mnt/strata/datasets/shapes \
        --epochs 3 --checkpoint /mnt/strata/checkpoints/shapes.pt

Needs Debian's python3-torch and python3-torchvision (apt-get install python3-torchvision).
"""
import argparse
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_dir", required=True, help="ImageFolder root (or its parent holding train/)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--num_workers", type=int, default=2, help="DataLoader worker processes (at least 2)")
    p.add_argument("--image_size", type=int, default=16, help="side the images are resized to")
    p.add_argument("--checkpoint", help="file to save the model to after each epoch")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or args.image_size < 8:
        p.error("--epochs and --batch_size must be at least 1, --image_size at least 8")
    if args.num_workers < 2:
        p.error("--num_workers must be at least 2: this example reads with parallel workers")
    return args


def main():
    args = parse_args()
    try:
        import torch
        from torch import nn
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms
    except ImportError as e:
        sys.exit(f"PyTorch is missing ({e}): apt-get install python3-torch python3-torchvision")

    root = os.path.join(args.data_dir, "train") if os.path.isdir(os.path.join(args.data_dir, "train")) else args.data_dir
    if not os.path.isdir(root):
        print(f"--data_dir {args.data_dir} does not exist", file=sys.stderr)
        sys.exit(2)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # the DataLoader workers and the training loop share a few cores
    dataset = datasets.ImageFolder(root, transform=transforms.Compose([
        transforms.Resize((args.image_size, args.image_size)),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ]))
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.num_workers,
                        persistent_workers=True, generator=torch.Generator().manual_seed(args.seed))
    classes = len(dataset.classes)
    print(f"Training on {root}: {len(dataset)} images, {classes} classes, "
          f"{args.num_workers} loader workers, batches of {args.batch_size}", flush=True)

    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, classes),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, args.epochs + 1):
        started = time.monotonic()
        seen, loss_sum, correct = 0, 0.0, 0
        for images, labels in loader:
            optimizer.zero_grad()
            out = model(images)
            loss = loss_fn(out, labels)
            loss.backward()
            optimizer.step()
            seen += len(labels)
            loss_sum += loss.item() * len(labels)
            correct += (out.argmax(1) == labels).sum().item()
        elapsed = time.monotonic() - started
        print(f"epoch {epoch}/{args.epochs}: {seen} images in {elapsed:.2f} s ({seen / elapsed:.1f} images/s), "
              f"loss {loss_sum / seen:.3f}, accuracy {correct / seen:.2f}", flush=True)
        if args.checkpoint:
            os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
            torch.save({"epoch": epoch, "classes": dataset.classes, "model": model.state_dict()}, args.checkpoint)
            print(f"saved checkpoint {args.checkpoint}", flush=True)


if __name__ == "__main__":
    main()
